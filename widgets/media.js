// A file shown inside the page: a video or audio player (with captions when given),
// a picture, or a PDF. The bytes come from the kernel (which checked who may see
// them) and are shown from a blob: URL, so the page never navigates anywhere.

const KIND = (mime) => (mime.startsWith("video/") ? "video" : mime.startsWith("audio/") ? "audio"
  : mime.startsWith("image/") ? "image" : mime === "application/pdf" ? "pdf" : "file");

function render({ model, el: host }) {
  host.classList.add("qe-media");
  let urls = [];
  const revoke = () => { for (const u of urls) URL.revokeObjectURL(u); urls = []; };
  const blobUrl = (view, mime) => {
    if (!view || !view.byteLength) return "";
    const url = URL.createObjectURL(new Blob([view], { type: mime }));
    urls.push(url);
    return url;
  };

  function draw() {
    revoke();
    host.replaceChildren();
    const mime = model.get("mime") || "application/octet-stream";
    const name = model.get("name") || "file";
    const src = blobUrl(model.get("data"), mime);
    if (!src) return;
    const kind = KIND(mime);
    host.dataset.kind = kind;
    const title = document.createElement("div");
    title.className = "qe-media-title";
    title.textContent = model.get("title") || name;
    host.appendChild(title);
    let media;
    if (kind === "video" || kind === "audio") {
      media = document.createElement(kind);
      media.controls = true;
      media.preload = "metadata";
      media.src = src;
      const vtt = blobUrl(model.get("captions"), "text/vtt");
      if (vtt) {
        const track = document.createElement("track");
        track.kind = "captions"; track.src = vtt; track.default = true;
        track.srclang = model.get("captions_lang") || "en"; track.label = "Captions";
        media.appendChild(track);
      }
    } else if (kind === "image") {
      media = document.createElement("img");
      media.src = src;
      media.alt = model.get("title") || name;
    } else if (kind === "pdf") {
      media = document.createElement("iframe");
      media.src = src;
      media.title = model.get("title") || name;
    }
    if (media) {
      media.className = `qe-media-${kind}`;
      host.appendChild(media);
    }
    const save = document.createElement("a");
    save.className = "qe-media-save";
    save.href = src;
    save.download = name;
    save.textContent = kind === "pdf" ? "⬇ Save the PDF" : "⬇ Save a copy";
    host.appendChild(save);
  }

  draw();
  for (const k of ["data", "mime", "name", "captions", "title"]) model.on(`change:${k}`, draw);
  return () => {
    for (const k of ["data", "mime", "name", "captions", "title"]) model.off(`change:${k}`, draw);
    revoke();
  };
}

export default { render };
