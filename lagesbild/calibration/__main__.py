import sys

from lagesbild.calibration.run import main

sys.exit(main())
