from midfield.cli import main

main()
