"""The `genrostore` command: one thin module per subcommand over `genrostore.core`."""
