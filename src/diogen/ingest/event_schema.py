"""The JSON shape of pushed events (docs/ingest.md): what a deployment and an incident carry."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

MAX_EVENTS = 1000
Name = Annotated[str, Field(min_length=1, max_length=255)]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: Name = Field(description="The event's id in the sending tool; the same id updates it.")
    repository: Name | None = Field(None, description="Repository name as Diogen knows it.")
    service: Name | None = Field(None, description="Service name; created when new.")
    url: Annotated[str, Field(max_length=2000)] | None = None


class DeploymentEvent(_Event):
    type: Literal["deployment"]
    environment: Name = "production"
    sha: Annotated[str, Field(min_length=4, max_length=64, pattern=r"^[0-9a-fA-F]+$")]
    ref: Annotated[str, Field(max_length=1000)] | None = None
    status: Literal["success", "failure", "error", "in_progress", "cancelled"] = "success"
    started_at: AwareDatetime | None = None
    finished_at: AwareDatetime | None = None
    is_rollback: bool = False
    fixes: Name | None = Field(None, description="Id of the deployment (same source) it fixes.")
    failed: bool | None = Field(None, description="A person's verdict: this deployment failed.")


class IncidentEvent(_Event):
    type: Literal["incident"]
    title: Annotated[str, Field(max_length=2000)] | None = None
    severity: Annotated[str, Field(max_length=50)] | None = None
    status: Annotated[str, Field(max_length=50)] | None = None
    started_at: AwareDatetime
    detected_at: AwareDatetime | None = None
    resolved_at: AwareDatetime | None = None
    deployment: Name | None = Field(None, description="Id of the deployment (same source).")
    sha: Annotated[str, Field(min_length=4, max_length=64)] | None = None
    pull_request: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Number of the pull request (in `repository`) that caused it."
    )


Event = Annotated[DeploymentEvent | IncidentEvent, Field(discriminator="type")]
EVENT = TypeAdapter(Event)
