"""Tools for compiled steps; they use no rule: a fast call path, k steps per call, data-parallel steps,
inspecting what PyTensor compiled, and checkpoints of optimizer state."""
