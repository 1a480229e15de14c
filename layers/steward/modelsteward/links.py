"""Links a person can open from an email: AWS console pages in the deployed region, or files locally.

The suite's emails name objects by ``s3://bucket/key`` (what the CLI and the AWS CLI take), which
no mail client opens. :func:`render_links` rewrites every such URI in a message into the S3
console page of the object (``https://<region>.console.aws.amazon.com/s3/object/<bucket>?...``),
and adds the CloudWatch console pages of the alarm an email is about and of the stack's
dashboard. On the local cloud (``STEWARD_LOCAL_OBJECTS`` set by its runtime) the URIs become
paths under that folder instead; the outbox copies each linked object there when it delivers
the email, so the path opens the very report the email speaks of.

Pure: the region, the dashboard name and the local folder are passed in (Settings has them).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

#: the names SNS alarm messages give regions ("Region" field) -> their codes
_REGION_NAMES = {
    "US East (N. Virginia)": "us-east-1",
    "US East (Ohio)": "us-east-2",
    "US West (N. California)": "us-west-1",
    "US West (Oregon)": "us-west-2",
    "Canada (Central)": "ca-central-1",
    "EU (Ireland)": "eu-west-1",
    "Europe (Ireland)": "eu-west-1",
    "EU (London)": "eu-west-2",
    "Europe (London)": "eu-west-2",
    "EU (Paris)": "eu-west-3",
    "Europe (Paris)": "eu-west-3",
    "EU (Frankfurt)": "eu-central-1",
    "Europe (Frankfurt)": "eu-central-1",
    "EU (Stockholm)": "eu-north-1",
    "Europe (Stockholm)": "eu-north-1",
    "EU (Milan)": "eu-south-1",
    "Europe (Milan)": "eu-south-1",
    "Asia Pacific (Tokyo)": "ap-northeast-1",
    "Asia Pacific (Seoul)": "ap-northeast-2",
    "Asia Pacific (Osaka)": "ap-northeast-3",
    "Asia Pacific (Singapore)": "ap-southeast-1",
    "Asia Pacific (Sydney)": "ap-southeast-2",
    "Asia Pacific (Jakarta)": "ap-southeast-3",
    "Asia Pacific (Mumbai)": "ap-south-1",
    "Asia Pacific (Hong Kong)": "ap-east-1",
    "South America (Sao Paulo)": "sa-east-1",
    "Middle East (Bahrain)": "me-south-1",
    "Africa (Cape Town)": "af-south-1",
}
_REGION_CODE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
#: an object URI in running text (keys hold no whitespace in this suite: layout refuses it)
_S3_URI = re.compile(r"s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/([^\s)>\]\"']+)")
#: the footer of the alarm emails (domain/email.py): "Model Steward - alarm <name> | ..."
_ALARM_FOOTER = re.compile(r"^Model Steward - alarm (?P<name>[^|\s]+)", re.MULTILINE)


def region_code(region: str | None, default: str = "us-east-1") -> str:
    """``us-east-1`` as given, or from SNS's ``US East (N. Virginia)``; else ``default``."""
    value = (region or "").strip()
    if _REGION_CODE.match(value):
        return value
    return _REGION_NAMES.get(value, default)


def _console(region: str) -> str:
    return f"https://{region}.console.aws.amazon.com"


def s3_object_url(bucket: str, key: str, region: str) -> str:
    """The S3 console page of one object (download, versions, properties)."""
    query = f"region={region}&bucketType=general&prefix={quote(key, safe='/')}"
    return f"{_console(region)}/s3/object/{bucket}?{query}"


def alarm_url(name: str, region: str) -> str:
    return f"{_console(region)}/cloudwatch/home?region={region}#alarmsV2:alarm/{quote(name, safe='')}"


def dashboard_url(name: str, region: str) -> str:
    return f"{_console(region)}/cloudwatch/home?region={region}#dashboards/dashboard/{quote(name, safe='')}"


def dashboard_name(stack: str, region: str) -> str:
    """template.yaml's DashboardName: ``<stack>-<region>``."""
    return f"{stack}-{region}"


def local_path(bucket: str, key: str, objects: str | Path) -> Path:
    """Where the local cloud's outbox puts a linked object: ``<objects>/<bucket>/<key>``."""
    return Path(objects) / bucket / key


def render_links(
    text: str, *, region: str | None, dashboard: str | None = None, local_objects: str | Path | None = None
) -> str:
    """``text`` with every ``s3://`` URI as a console link (or a local path), plus the console
    links of the alarm it is about and of the dashboard, before its ``--`` footer."""
    code = region_code(region)

    def one(match: re.Match[str]) -> str:
        bucket, key = match.group(1), match.group(2)
        if local_objects:
            return str(local_path(bucket, key, local_objects))
        return s3_object_url(bucket, key, code)

    out = _S3_URI.sub(one, text)
    if local_objects:
        return out
    extra = []
    alarm = _ALARM_FOOTER.search(out)
    if alarm:
        extra.append(f"  alarm in the CloudWatch console: {alarm_url(alarm['name'], code)}")
    if dashboard:
        extra.append(f"  dashboard: {dashboard_url(dashboard, code)}")
    if not extra:
        return out
    lines = out.split("\n")
    footer = max((i for i, line in enumerate(lines) if line == "--"), default=None)
    if footer is None:
        return out.rstrip("\n") + "\n\n" + "\n".join(extra) + "\n"
    at = footer - 1 if footer > 0 and lines[footer - 1] == "" else footer
    return "\n".join(lines[:at] + extra + lines[at:])
