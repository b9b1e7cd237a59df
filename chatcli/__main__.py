from chatcli.cli.main import run

run()
