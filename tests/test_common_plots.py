"""pyplot/save_png: Agg backend, atomic PNG, figure closed."""

from reelscore.common.plots import pyplot, save_png


def test_save_png_writes_png_and_closes_figure(tmp_path):
    plt = pyplot()
    assert plt.get_backend().lower() == "agg"
    fig, ax = plt.subplots(figsize=(2, 2), dpi=50)
    ax.plot([0, 1], [1, 0])
    out = save_png(fig, tmp_path / "sub" / "line.png")
    assert out == tmp_path / "sub" / "line.png"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["line.png"]  # no temp file left
