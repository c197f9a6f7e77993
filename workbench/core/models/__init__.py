"""The built-in architectures (the zoo); see workbench.core.zoo for their declarations.

Each module imports torch at its top, so import them only when a model is built.
"""
