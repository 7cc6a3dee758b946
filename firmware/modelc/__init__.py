"""modelc: compiles an int8 .tflite model into static C for the tinyperf kernels."""

class ModelcError(Exception):
    """A user-facing error: printed as one line, exit status 2."""
