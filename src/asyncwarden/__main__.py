from asyncwarden.cli import main

raise SystemExit(main())
