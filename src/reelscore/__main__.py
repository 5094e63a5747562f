from reelscore.cli import main

main()
