from wattwallet.cli.main import app

app()
