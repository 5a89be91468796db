"""The process `recipes.search.trials` runs a few trials in: quiet start, then `trials.main`.

python -m recipes.search.child REQUEST.json
"""

from __future__ import annotations

import sys

from recipes.data.noise import import_tensorflow_quietly

if __name__ == "__main__":
    import_tensorflow_quietly()
    from recipes.search.trials import main

    sys.exit(main(sys.argv[1:]))
