"""One torch tracer at a time in this process.

``torch.export`` and ``torch.onnx.export`` change the module they trace while they run
(an ``_export_root`` wrapper, hooks, the train/eval flag) and dynamo keeps process-wide
state. Two threads tracing the same model at once (Compare measuring it while the graph
diff builds its graph) failed with "Unexpected key _export_root.features.0.1". Tracing
takes well under a second for these models, so they take turns behind one re-entrant
lock rather than each working on a copy of the model.
"""

from __future__ import annotations

import threading

TRACING = threading.RLock()
