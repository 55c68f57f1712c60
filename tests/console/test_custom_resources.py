"""A custom resource type in the console's resource browser: it appears once its CRD is Established (from
aggregated discovery, as the user), and its list renders the server's Table with the CRD's printer columns."""
from __future__ import annotations

import asyncio
import re
from typing import Any

from tests.console.harness import TOKENS, ConsoleHarness

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
GADGETS = "/apis/example.com/v1/namespaces/shop/gadgets"
CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.example.com"},
    "spec": {
        "group": "example.com", "scope": "Namespaced",
        "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "shortNames": ["gd"]},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "additionalPrinterColumns": [
                {"name": "Color", "type": "string", "jsonPath": ".spec.color", "description": "The gadget's color."},
                {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                {"name": "Serial", "type": "string", "jsonPath": ".spec.serial", "priority": 1},
            ],
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {
                "type": "object", "properties": {"color": {"type": "string"}, "size": {"type": "integer"},
                                                 "serial": {"type": "string"}}}}}},
        }],
    },
}


def row_cells(page: str) -> list[list[str]]:
    body = page.split('<tbody id="resource-rows">')[1].split("</tbody>")[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
            for row in rows]


def header_names(page: str) -> list[str]:
    head = page.split('<table class="resources"')[1].split("</thead>")[0]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<th[^>]*>(.*?)</th>", head, flags=re.S)]


async def established(console: ConsoleHarness, name: str, within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while True:
            crd = await console.api("GET", f"{CRDS}/{name}")
            conditions = (crd.get("status") or {}).get("conditions") or ()
            if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                answer = await console.server.request("GET", GADGETS)
                if answer.status == 200:
                    return
            await asyncio.sleep(0.02)


async def test_a_custom_resource_type_is_browsed_with_its_printer_columns(console: ConsoleHarness) -> None:
    await console.namespace("shop")
    await console.api("POST", CRDS, CRD)
    await established(console, "gadgets.example.com")
    for name, color, size in (("g-1", "red", 3), ("g-2", "blue", 7)):
        await console.api("POST", GADGETS, {"apiVersion": "example.com/v1", "kind": "Gadget",
                                            "metadata": {"name": name},
                                            "spec": {"color": color, "size": size, "serial": f"S-{name}"}})
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["admin"])
        index = await browser.get("/console/resources/?namespace=shop")
        assert index.status_code == 200
        assert '<a href="/console/resources/example.com/v1/gadgets/?namespace=shop">Gadget</a>' in index.text
        assert "<code>gd</code>" in index.text

        page = await browser.get("/console/resources/example.com/v1/gadgets/", params={"namespace": "shop"})
        assert page.status_code == 200, page.text
        # The CRD's columns after Name (no Age: a CRD with printer columns gets none); priority 1 only when wide.
        assert header_names(page.text) == ["Name", "Color", "Size"]
        assert 'title="The gadget&#x27;s color."' in page.text
        assert row_cells(page.text) == [["g-1", "red", "3"], ["g-2", "blue", "7"]]
        wide = await browser.get("/console/resources/example.com/v1/gadgets/", params={"namespace": "shop",
                                                                                       "wide": "1"})
        assert header_names(wide.text) == ["Name", "Color", "Size", "Serial"]
        assert row_cells(wide.text) == [["g-1", "red", "3", "S-g-1"], ["g-2", "blue", "7", "S-g-2"]]
        assert 'data-watch-path="/apis/example.com/v1/namespaces/shop/gadgets"' in page.text
        assert "kubectl get gadgets.example.com -n shop</code>" in page.text

        detail = await browser.get("/console/resources/example.com/v1/gadgets/g-2/", params={"namespace": "shop"})
        assert detail.status_code == 200
        assert "kubectl get gadget.example.com g-2 -n shop -o yaml</code>" in detail.text
        assert "spec:\n  color: blue\n  size: 7\n  serial: S-g-2\n" in detail.text
