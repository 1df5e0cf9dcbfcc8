import sys

from beamtagger.pipeline.cli import main

sys.exit(main())
