import argparse
import sys

from . import ModelcError
from .compiler import compile_model


def main(argv=None):
    ap = argparse.ArgumentParser(prog='modelc',
                                 description='Compile an int8 .tflite model to static C.')
    ap.add_argument('model')
    ap.add_argument('--out', required=True, help='output directory')
    ap.add_argument('--flash-bytes', type=int, default=None)
    ap.add_argument('--ram-bytes', type=int, default=None)
    args = ap.parse_args(argv)
    try:
        c = compile_model(args.model, args.out, args.flash_bytes, args.ram_bytes)
    except ModelcError as e:
        print(f'modelc: error: {e}', file=sys.stderr)
        return 2
    except OSError as e:
        print(f'modelc: error: cannot write {args.out}: {e.strerror}', file=sys.stderr)
        return 2
    print(f'{c.name}: {len(c.layers)} layers, {c.macs} MACs, weights {c.weight_bytes} bytes, '
          f'arena {c.arena} bytes')
    return 0


if __name__ == '__main__':
    sys.exit(main())
