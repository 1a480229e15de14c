"""Email links a mail client opens: console pages of the deployed region, or local files."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from modelsteward.links import dashboard_name, region_code, render_links

BODY = """Model credit-default (stage prod): drift is in ALARM since 2026-01-01 10:05 UTC.

LINKS
  batch report (HTML): s3://st-artifacts-eu-west-1-6d9c5dde/reports/credit-default/batches/b-1/report.html
  champion model card v3: s3://st-artifacts-eu-west-1-6d9c5dde/models/credit-default/v0003/card/card.html

--
Model Steward - alarm st-credit-default-data_drift | episode e-1 | EU (Ireland)
"""


def test_region_names_from_sns_and_codes_both_give_the_code() -> None:
    assert (
        region_code("EU (Ireland)")
        == region_code("Europe (Ireland)")
        == region_code("eu-west-1")
        == "eu-west-1"
    )
    assert region_code(None) == "us-east-1" and region_code("ap-southeast-3") == "ap-southeast-3"


def test_every_s3_uri_becomes_an_https_console_link_of_the_region() -> None:
    out = render_links(BODY, region="EU (Ireland)", dashboard=dashboard_name("st", "eu-west-1"))
    assert "s3://" not in out
    links = [word for line in out.splitlines() for word in line.split() if word.startswith("https://")]
    assert (
        all(link.startswith("https://eu-west-1.console.aws.amazon.com/") for link in links)
        and len(links) == 4
    )
    report = urlsplit(links[0])
    assert report.path == "/s3/object/st-artifacts-eu-west-1-6d9c5dde"
    assert parse_qs(report.query)["prefix"] == ["reports/credit-default/batches/b-1/report.html"]
    assert parse_qs(report.query)["region"] == ["eu-west-1"]
    assert "#alarmsV2:alarm/st-credit-default-data_drift" in out
    assert "#dashboards/dashboard/st-eu-west-1" in out
    assert out.rstrip().endswith("EU (Ireland)"), "the footer stays last"
    assert out.index("alarm in the CloudWatch console") < out.index("\n--\n")


def test_on_the_local_cloud_links_are_paths_of_the_copied_objects(tmp_path: Path) -> None:
    out = render_links(BODY, region="us-east-1", local_objects=tmp_path)
    assert f"{tmp_path}/st-artifacts-eu-west-1-6d9c5dde/models/credit-default/v0003/card/card.html" in out
    assert "https://" not in out and "s3://" not in out


def test_text_without_uris_is_left_alone() -> None:
    text = "Governance audit found 0 findings.\n"
    assert render_links(text, region="us-east-1") == text
