"""One QWizard per pass family (pruning, quantization, distillation) on a shared base."""
