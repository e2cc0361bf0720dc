"""CDK entry point: `cdk.json` runs it with the project's venv (`make synth`, `make deploy`)."""

from __future__ import annotations

import sys

from infra.application import create_app
from infra.settings import SettingsError


def main() -> None:
    try:
        app = create_app()
    except SettingsError as error:
        sys.exit(f"error: {error}")
    app.synth()


if __name__ == "__main__":
    main()
