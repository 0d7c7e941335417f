"""Workspace › Files in Chromium: several files at once with progress, dropped files, the
button disabled while sending, failures that say why; times shown in local time."""

import pytest

from tests.support.chromium import flashes, sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips or fails the tests
    expect = None

pytestmark = pytest.mark.slow  # Chromium against a live gunicorn

# Notes whether the Upload button was ever disabled, however briefly.
WATCH_BUTTON = """() => {
  const button = document.querySelector('form[data-upload] [type="submit"]');
  window.buttonWasDisabled = false;
  new MutationObserver(() => { if (button.disabled) window.buttonWasDisabled = true; })
    .observe(button, { attributes: true });
}"""

DROP_ONE_FILE = """() => {
  const transfer = new DataTransfer();
  transfer.items.add(new File(["dropped on the box\\n"], "dropped.txt", { type: "text/plain" }));
  return transfer;
}"""


@pytest.fixture
def bob(crowd, make_user, save_settings):
    make_user("root@example.com", role="admin")
    make_user("bob@example.com")
    save_settings(FILE_MAX_SIZE_MB=1)
    page = crowd.person("bob")
    sign_in(page, "bob@example.com")
    page.locator("header nav").get_by_role("link", name="Files").click()
    return page


def test_several_files_upload_with_progress_and_say_why_one_failed(bob, tmp_path):
    small = tmp_path / "small.txt"
    small.write_text("A small note.\n")
    medium = tmp_path / "medium.csv"
    medium.write_text("n,square\n" + "".join(f"{n},{n * n}\n" for n in range(40_000)))
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (1024 * 1024 + 1))
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")

    bob.evaluate(WATCH_BUTTON)
    bob.get_by_label("File", exact=True).set_input_files(
        [str(small), str(medium), str(big), str(empty)]
    )
    expect(bob.locator("[data-chosen]")).to_contain_text("4 files chosen")
    bob.get_by_role("button", name="Upload").click()

    progress = bob.locator("[data-progress] li")
    expect(progress).to_have_count(4)
    expect(bob.locator('[data-progress] li[data-file-name="empty.txt"]')).to_have_class("failed")
    for name, size in (("small.txt", small.stat().st_size), ("medium.csv", medium.stat().st_size)):
        row = bob.locator(f'[data-progress] li[data-file-name="{name}"]')
        expect(row).to_have_class("done")
        expect(row.locator(".upload-status")).to_have_text("stored and indexed")
        bar = row.locator("progress")
        # Every byte of the file (and the multipart envelope) was reported as sent.
        assert int(bar.get_attribute("max") or 0) >= size
        assert bar.evaluate("bar => bar.value === bar.max")

    big_row = bob.locator('[data-progress] li[data-file-name="big.bin"]')
    expect(big_row).to_have_class("failed")
    expect(big_row).to_contain_text("larger than the 1 MB upload limit")
    expect(big_row.locator(".upload-status")).to_contain_text(
        "failed: 1.0 MB; The file is larger than the 1 MB upload limit"
    )
    empty_status = bob.locator('[data-progress] li[data-file-name="empty.txt"] .upload-status')
    expect(empty_status).to_contain_text("failed: The file is empty")  # the server's reason
    expect(empty_status).to_contain_text("(HTTP 400)")
    # One red line over the list, and no green one over the failures.
    expect(bob.locator("[data-upload-results] .flash-error")).to_have_text(
        "2 of 4 files failed; the list below says why. The others were uploaded."
    )
    expect(bob.locator(".flash-success")).to_have_count(0)

    # The list is refreshed in place, with localised times, and the button is usable again.
    files = bob.locator("table.files tbody tr")
    expect(files).to_have_count(2)
    expect(bob.locator("table.files")).to_contain_text("small.txt")
    expect(bob.locator("table.files time[data-localised]")).to_have_count(2)
    expect(bob.get_by_role("button", name="Upload")).to_be_enabled()
    assert bob.evaluate("window.buttonWasDisabled") is True


def test_a_file_stored_but_not_indexed_is_a_failure_not_done(bob, tmp_path):
    note, blob = tmp_path / "note.txt", tmp_path / "blob.bin"
    note.write_text("A note.\n")
    blob.write_bytes(b"\x00\x01 binary")
    bob.get_by_label("File", exact=True).set_input_files([str(note), str(blob)])
    bob.get_by_role("button", name="Upload").click()
    blob_row = bob.locator('[data-progress] li[data-file-name="blob.bin"]')
    expect(blob_row).to_have_class("failed")
    expect(blob_row.locator(".upload-status")).to_contain_text("stored, but not indexed: ")
    expect(
        bob.locator('[data-progress] li[data-file-name="note.txt"] .upload-status')
    ).to_have_text("stored and indexed")
    expect(bob.locator("[data-upload-results] .flash-error")).to_have_text(
        "1 of 2 files failed; the list below says why. The others were uploaded."
    )
    expect(bob.locator(".flash-success")).to_have_count(0)
    expect(bob.locator("table.files tbody tr")).to_have_count(2)  # both were stored


def test_a_dropped_file_is_uploaded(bob):
    chosen = bob.locator("[data-chosen]")
    for _ in range(20):  # on a loaded machine the page's script may not be wired up yet
        transfer = bob.evaluate_handle(DROP_ONE_FILE)
        bob.dispatch_event("[data-drop-zone]", "drop", {"dataTransfer": transfer})
        if chosen.inner_text():
            break
        bob.wait_for_timeout(250)
    expect(chosen).to_have_text("1 file chosen: dropped.txt")
    bob.get_by_role("button", name="Upload").click()
    expect(flashes(bob)).to_have_text("The file was uploaded.")
    expect(bob.locator("table.files tbody tr", has_text="dropped.txt")).to_have_count(1)


def test_times_are_shown_in_local_time_with_utc_in_the_title(bob, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("note\n")
    bob.get_by_label("File", exact=True).set_input_files(str(note))
    bob.get_by_role("button", name="Upload").click()
    expect(flashes(bob)).to_have_text("The file was uploaded.")
    bob.reload()
    stamp = bob.locator("table.files time").first
    expect(stamp).to_have_attribute("data-localised", "true")
    expect(stamp).to_contain_text("now")  # "just now" or "now", in the browser's words
    assert stamp.get_attribute("title").endswith(" UTC")
    assert "UTC" not in stamp.inner_text()
