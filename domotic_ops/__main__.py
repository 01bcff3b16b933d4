from domotic_ops.cli import main

main()
