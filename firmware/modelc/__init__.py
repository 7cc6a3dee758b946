"""modelc: compiles an int8 .tflite model into static C for the tinyperf kernels."""

from tinyperf_errors import EXIT_USAGE, TinyperfError


class ModelcError(TinyperfError):
    """A user-facing error: printed as one line, exit status 2."""

    exit_code = EXIT_USAGE
