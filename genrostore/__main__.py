from genrostore.cli.app import run

run()
