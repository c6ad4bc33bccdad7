from gan_runner.cli import main

main()
