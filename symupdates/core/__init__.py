"""The core every rule is built on: the ``Updates`` dict a rule returns, the builder that transforms write
their state into, ``Transform`` / ``chain`` / ``apply`` and the ``@rule`` / ``@transform`` declarations,
hyper-parameter domains and typing, schedules, gradients, and the differences between PyTensor versions."""
