"""A collection's page in Chromium: files uploaded (chosen or dropped) and text added straight
into the collection, each upload's own result, scores, and the page at work widths."""

import pytest

from tests.support.axe import blocking_violations, describe, load_axe
from tests.support.chromium import flashes, sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips or fails the tests
    expect = None

pytestmark = pytest.mark.slow  # Chromium against a live gunicorn

DROP_TWO_FILES = """() => {
  const transfer = new DataTransfer();
  transfer.items.add(new File(["Parking is behind the building.\\n"], "parking.txt",
                              { type: "text/plain" }));
  transfer.items.add(new File(["# Lunch\\n\\nLunch is at noon.\\n"], "lunch.md",
                              { type: "text/markdown" }));
  return transfer;
}"""


@pytest.fixture
def alice(crowd, make_user, save_settings):
    """Alice on the page of her new collection "Handbook"."""
    make_user("root@example.com", role="admin")
    make_user("alice@example.com")
    save_settings(USER_PERMISSIONS_WORKSPACE_KNOWLEDGE=True, FILE_MAX_SIZE_MB=1)
    page = crowd.person("alice")
    sign_in(page, "alice@example.com")
    page.goto("/workspace/knowledge")
    page.get_by_label("Name", exact=True).fill("Handbook")
    page.get_by_role("button", name="Create collection").click()
    expect(page.get_by_role("heading", name="Handbook", level=1)).to_be_visible()
    return page


def collection_rows(page):
    return page.locator("#file-list table.files tbody tr[data-file-id]")


def test_several_files_upload_into_the_collection_with_progress(alice, tmp_path):
    rules = tmp_path / "rules.txt"
    rules.write_text("Holidays: 25 days a year.\n")
    table = tmp_path / "rota.csv"
    table.write_text("day,who\n" + "".join(f"{n},person {n}\n" for n in range(5_000)))
    alice.get_by_label("File", exact=True).set_input_files([str(rules), str(table)])
    expect(alice.locator("[data-chosen]")).to_contain_text("2 files chosen")
    alice.get_by_role("button", name="Upload").click()

    for name in ("rules.txt", "rota.csv"):
        row = alice.locator(f'[data-progress] li[data-file-name="{name}"]')
        expect(row).to_have_class("done")
        assert row.locator("progress").evaluate("bar => bar.value === bar.max && bar.max > 0")
    # The collection's own list now holds both, without a reload.
    expect(collection_rows(alice)).to_have_count(2)
    expect(alice.locator("#file-list")).to_contain_text("rules.txt")
    expect(alice.locator("#file-list")).to_contain_text("rota.csv")
    alice.reload()
    expect(collection_rows(alice)).to_have_count(2)


def test_dropped_files_go_into_the_collection(alice):
    chosen = alice.locator("[data-chosen]")
    for _ in range(20):  # on a loaded machine the page's script may not be wired up yet
        transfer = alice.evaluate_handle(DROP_TWO_FILES)
        alice.dispatch_event("[data-drop-zone]", "drop", {"dataTransfer": transfer})
        if chosen.inner_text():
            break
        alice.wait_for_timeout(250)
    expect(chosen).to_have_text("2 files chosen: parking.txt, lunch.md")
    alice.get_by_role("button", name="Upload").click()
    expect(collection_rows(alice)).to_have_count(2)
    alice.get_by_label("Query").fill("lunch")
    alice.get_by_role("button", name="Search").click()
    expect(alice.locator("ol.passages li").first).to_contain_text("Lunch is at noon.")


def test_without_javascript_the_form_posts_all_files_and_comes_back(
    browser, live_server, make_user, save_settings, tmp_path
):
    make_user("root@example.com", role="admin")
    make_user("alice@example.com")
    save_settings(USER_PERMISSIONS_WORKSPACE_KNOWLEDGE=True)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, "alice@example.com")
        page.goto("/workspace/knowledge")
        page.get_by_label("Name", exact=True).fill("Plain")
        page.get_by_role("button", name="Create collection").click()
        note, blob = tmp_path / "note.txt", tmp_path / "blob.bin"
        note.write_text("A note.\n")
        blob.write_bytes(b"\x00\x01binary")
        page.get_by_label("File", exact=True).set_input_files([str(note), str(blob)])
        page.get_by_role("button", name="Upload").click()
        expect(page.get_by_role("heading", name="Plain", level=1)).to_be_visible()
        expect(flashes(page)).to_have_count(2)
        expect(page.locator(".flash-success")).to_have_text("note.txt stored, indexed and added.")
        expect(page.locator(".flash-error")).to_contain_text("blob.bin was not added")
        expect(collection_rows(page)).to_have_count(1)
    finally:
        context.close()


def test_text_content_is_added_to_the_collection_and_bad_input_keeps_the_form(alice):
    section = alice.locator("#add-text")
    section.get_by_label("Title").fill("Parking")
    section.get_by_label("Text").fill("   ")
    section.get_by_role("button", name="Add text").click()
    expect(alice.locator(".flash-error")).to_contain_text("The text was not added")
    expect(alice.locator("#add-text")).to_contain_text("Write or paste the text to add.")
    expect(alice.locator("#add-text").get_by_label("Title")).to_have_value("Parking")

    alice.locator("#add-text").get_by_label("Text").fill("# Parking\n\nBehind the building.")
    alice.locator("#add-text").get_by_role("button", name="Add text").click()
    expect(alice.locator(".flash-success")).to_have_text("Parking.md stored, indexed and added.")
    expect(collection_rows(alice)).to_have_count(1)
    expect(collection_rows(alice)).to_contain_text("Parking.md")


def test_same_named_files_are_told_apart_by_size_and_local_upload_time(alice, tmp_path):
    for number, text in enumerate(("Holidays: 25 days.\n", "Holidays: 30 days from 2027.\n")):
        folder = tmp_path / str(number)
        folder.mkdir()
        (folder / "rules.txt").write_text(text)
        alice.get_by_label("File", exact=True).set_input_files(str(folder / "rules.txt"))
        alice.get_by_role("button", name="Upload").click()
        expect(collection_rows(alice)).to_have_count(number + 1)
    headers = alice.locator("#file-list table.files thead th")
    expect(headers.nth(1)).to_have_text("Size")
    expect(headers.nth(2)).to_have_text("Uploaded")
    sizes = collection_rows(alice).locator('td[data-label="Size"]')
    expect(sizes).to_have_count(2)
    # Both were uploaded within the same second: their order is not the point, their sizes are.
    assert sorted(sizes.all_inner_texts()) == ["19 Bytes", "29 Bytes"]
    stamps = collection_rows(alice).locator("time[data-localised]")
    expect(stamps).to_have_count(2)
    assert stamps.first.get_attribute("title").endswith(" UTC")


def test_each_upload_has_its_own_result_and_a_failure_turns_the_summary_red(alice, tmp_path):
    note, blob = tmp_path / "note.txt", tmp_path / "blob.bin"
    note.write_text("A note about parking.\n")
    blob.write_bytes(b"\x00\x01 binary")
    alice.get_by_label("File", exact=True).set_input_files([str(note), str(blob)])
    alice.get_by_role("button", name="Upload").click()
    note_row = alice.locator('[data-progress] li[data-file-name="note.txt"]')
    blob_row = alice.locator('[data-progress] li[data-file-name="blob.bin"]')
    expect(note_row).to_have_class("done")
    expect(note_row.locator(".upload-status")).to_have_text("stored, indexed and added")
    expect(blob_row).to_have_class("failed")
    expect(blob_row.locator(".upload-status")).to_contain_text(
        "failed: the file could not be indexed, so it was not kept"
    )
    summary = alice.locator("[data-upload-results] .flash")
    expect(summary).to_have_count(1)
    expect(summary).to_have_class("flash flash-error")
    expect(summary).to_have_text(
        "1 of 2 files failed; the list below says why. The others were uploaded."
    )
    expect(collection_rows(alice)).to_have_count(1)


def test_the_collection_pages_have_no_moderate_or_serious_axe_violations(
    browser, live_server, make_user, save_settings, tmp_path
):
    make_user("root@example.com", role="admin")
    make_user("alice@example.com")
    save_settings(USER_PERMISSIONS_WORKSPACE_KNOWLEDGE=True)
    context = browser.new_context(base_url=live_server.url)
    load_axe(context)
    try:
        page = context.new_page()
        sign_in(page, "alice@example.com")
        page.goto("/workspace/knowledge")
        page.get_by_label("Name", exact=True).fill("Handbook")
        page.get_by_role("button", name="Create collection").click()
        section = page.locator("#add-text")
        section.get_by_label("Title").fill("Parking")
        section.get_by_label("Text").fill("Parking is behind the building.")
        section.get_by_role("button", name="Add text").click()
        expect(collection_rows(page)).to_have_count(1)
        collection_url = page.url
        blob = tmp_path / "blob.bin"
        blob.write_bytes(b"\x00\x01 binary")
        page.goto("/workspace/files")
        page.get_by_label("File", exact=True).set_input_files(str(blob))
        page.get_by_role("button", name="Upload").click()
        expect(page.locator("table.files tbody tr")).to_have_count(2)

        # Row buttons are named for their row; the buttons column has a header.
        expect(page.get_by_role("button", name="Delete Parking.md")).to_have_count(1)
        expect(page.get_by_role("button", name="Index blob.bin")).to_have_count(1)
        expect(page.get_by_role("link", name="Download blob.bin")).to_have_count(1)
        page.goto(collection_url)
        expect(page.get_by_role("button", name="Remove Parking.md")).to_have_count(1)

        found = []
        for url in (collection_url + "?q=parking", "/workspace/files", "/workspace/knowledge"):
            for width in (1280, 360):
                page.set_viewport_size({"width": width, "height": 800})
                for scheme in ("light", "dark"):
                    page.emulate_media(color_scheme=scheme)
                    page.goto(url)
                    violations = blocking_violations(page)
                    if violations:
                        found.append(f"{url} at {width} px, {scheme}:\n{describe(violations)}")
        assert not found, "\n".join(found)
    finally:
        context.close()
