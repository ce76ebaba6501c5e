from pygenome.cli import main

raise SystemExit(main())
