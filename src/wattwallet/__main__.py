from wattwallet.cli import app

app()
