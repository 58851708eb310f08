from videorecog.cli import main

raise SystemExit(main())
