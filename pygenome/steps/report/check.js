window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var loaded = images.filter(function (image) { return image.complete && image.naturalWidth > 0; });
  document.body.setAttribute("data-images", String(images.length));
  document.body.setAttribute("data-images-loaded", String(loaded.length));
  document.body.setAttribute("data-overflow",
    document.documentElement.scrollWidth > window.innerWidth ? "yes" : "no");
  var fit = Array.prototype.slice.call(document.querySelectorAll(".fit"));
  document.body.setAttribute("data-overflow-fit", String(fit.filter(function (box) {
    return box.scrollWidth > box.clientWidth + 1;
  }).length));
});
