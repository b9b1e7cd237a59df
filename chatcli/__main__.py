from chatcli.cli.entry import run

run()
