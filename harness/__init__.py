"""tinyperf's harness: protocol client, runner modes, reports and the CLI."""
