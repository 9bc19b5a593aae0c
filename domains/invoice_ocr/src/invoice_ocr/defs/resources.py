"""invoice_ocr's outside systems as a Dagster resource: the workspace (inbox, stored files, ledger, ERP stand-in).

Assets, checks and sensors name ``invoice_workspace: InvoiceWorkspace`` and call ``.get()`` for the
:class:`~invoice_ocr.lib.workspace.Workspace` whose ledger, ERP and stored files they use; they never
look the workspace up themselves. ``definitions.py`` binds it beside the platform's resources, and a
test swaps it: ``dg.materialize(..., resources=resources(InvoiceWorkspace(root=str(tmp))))``.
"""

# No "from __future__ import annotations": Dagster reads the resource fields from the real annotations.

from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from inloop.dagster_resources import platform_resources
from invoice_ocr.lib.workspace import Workspace

__all__ = ["INVOICE_WORKSPACE", "InvoiceWorkspace", "resources"]

#: The resource key (parameters are named after it).
INVOICE_WORKSPACE = "invoice_workspace"


class InvoiceWorkspace(dg.ConfigurableResource):  # type: ignore[type-arg]
    """One invoice installation: inbox, content-addressed stored files, ledger and the ERP stand-in."""

    root: str | None = Field(default=None, description="Workspace folder; unset: <data_dir>/domains/invoice_ocr "
                                                        "from the settings, read when the run starts.")
    _value: Workspace | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._value = self.get()

    def get(self) -> Workspace:
        if self._value is not None:
            return self._value
        return Workspace(Path(self.root).expanduser().resolve()) if self.root else Workspace.default()


def resources(workspace: InvoiceWorkspace | None = None) -> dict[str, Any]:
    """Every resource invoice_ocr's assets, checks and sensors use (the platform's and the workspace), for
    ``dg.materialize`` and direct sensor calls outside the code location; ``workspace`` swaps the workspace."""
    return {**platform_resources(), INVOICE_WORKSPACE: workspace or InvoiceWorkspace()}
