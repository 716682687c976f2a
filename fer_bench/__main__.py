from fer_bench.cli import main

raise SystemExit(main())
