#include "sslkit/data/view_grid.h"

#include "sslkit/ssl/canvas.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>

namespace ssl::data {

namespace {

/// Copies one planar float tile [C, h, w] (normalized) into the canvas at (top, left), scaled up.
void blit(Canvas& canvas, const float* tile, int64_t channels, int64_t h, int64_t w, const Normalization& norm,
          int64_t top, int64_t left, int64_t scale) {
  for (int64_t y = 0; y < h * scale; ++y) {
    for (int64_t x = 0; x < w * scale; ++x) {
      uint8_t rgb[3];
      for (int64_t k = 0; k < 3; ++k) {
        const int64_t c = channels == 3 ? k : 0;
        const float v = tile[(c * h + y / scale) * w + x / scale];
        const float value = (v * norm.stddev[static_cast<size_t>(c)] + norm.mean[static_cast<size_t>(c)]) * 255.0f;
        rgb[k] = static_cast<uint8_t>(std::lround(std::clamp(value, 0.0f, 255.0f)));
      }
      canvas.set(left + x, top + y, {rgb[0], rgb[1], rgb[2]});
    }
  }
}

// Where one view goes in its cell: a multi-patch view is a mosaic of its patches (in slot order, one image pixel
// apart).
struct ViewLayout {
  int64_t patches, th, tw, columns, rows;
};

// The cell size (every view and the original fit) and each view's layout, at `scale` pixels per image pixel.
struct GridGeometry {
  std::vector<ViewLayout> views;
  int64_t cell_h = 0, cell_w = 0;
};

GridGeometry grid_geometry(const Batch& batch, int64_t h, int64_t w, int64_t s, int64_t fs) {
  GridGeometry g;
  g.cell_h = h * s;
  g.cell_w = w * s;
  for (const auto& view : batch.views) {
    ViewLayout L{view.dim() == 5 ? view.size(1) : 1, view.size(-2), view.size(-1), 1, 1};
    L.columns = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(L.patches)) - 1e-9));
    L.rows = (L.patches + L.columns - 1) / L.columns;
    g.views.push_back(L);
    g.cell_h = std::max(g.cell_h, L.rows * L.th * s + (L.rows - 1) * s);
    g.cell_w = std::max(g.cell_w, L.columns * L.tw * s + (L.columns - 1) * s);
  }
  g.cell_w = std::max(g.cell_w, Canvas::text_width("t=000", fs));
  return g;
}

// Draws image `b`'s patches of one view (`data`: its float tiles) into the cell at (top, left).
void draw_view(Canvas& canvas, const float* data, const ViewLayout& L, int64_t c, const Normalization& norm,
               const GridGeometry& g, int64_t top, int64_t left, int64_t s) {
  const int64_t tile_numel = c * L.th * L.tw;
  const int64_t mosaic_h = L.rows * L.th * s + (L.rows - 1) * s, mosaic_w = L.columns * L.tw * s + (L.columns - 1) * s;
  for (int64_t p = 0; p < L.patches; ++p) {
    blit(canvas, data + p * tile_numel, c, L.th, L.tw, norm, top + (g.cell_h - mosaic_h) / 2 + (p / L.columns) * (L.th + 1) * s,
         left + (g.cell_w - mosaic_w) / 2 + (p % L.columns) * (L.tw + 1) * s, s);
  }
}

// The caption under view `v` of image `b`: its target, or the patch range of a multi-patch view.
std::string view_caption(const torch::Tensor& targets, int64_t b, size_t v, const ViewLayout& L) {
  if (targets.defined()) {
    const int64_t t = targets.dim() == 2 ? targets[b][static_cast<int64_t>(v)].item<int64_t>() : targets[b].item<int64_t>();
    return "t=" + std::to_string(t);
  }
  return L.patches > 1 ? "p0-" + std::to_string(L.patches - 1) : "";
}

}  // namespace

torch::Tensor render_view_grid(const torch::Tensor& originals, const Batch& batch, const Normalization& norm,
                               const ViewGridOptions& options) {
  TORCH_CHECK(originals.dim() == 4 && originals.scalar_type() == torch::kUInt8,
              "render_view_grid: originals must be uint8 [N,H,W,C], got ", originals.sizes());
  TORCH_CHECK(options.scale() >= 1 && options.font_scale() >= 1 && options.padding() >= 0,
              "render_view_grid: scale and font_scale must be >= 1 and padding >= 0");
  const int64_t rows = originals.size(0), h = originals.size(1), w = originals.size(2), c = originals.size(3);
  TORCH_CHECK(!batch.views.empty() && batch.views[0].size(0) == rows, "render_view_grid: the batch holds ",
              batch.views.empty() ? 0 : batch.views[0].size(0), " images, the originals ", rows);
  const int64_t s = options.scale(), pad = options.padding(), fs = options.font_scale();
  const GridGeometry g = grid_geometry(batch, h, w, s, fs);
  const int64_t tiles = 1 + static_cast<int64_t>(batch.views.size());
  const int64_t caption = 5 * fs + 2 * fs;
  const int64_t row_h = g.cell_h + caption + pad, col_w = g.cell_w + pad;
  Canvas canvas(pad + rows * row_h, pad + tiles * col_w + pad, {40, 40, 40});
  const Rgb white{255, 255, 255}, yellow{255, 210, 80};

  const torch::Tensor originals_c = originals.contiguous();
  const Normalization identity{std::vector<float>(static_cast<size_t>(std::max<int64_t>(c, 3)), 0.0f),
                               std::vector<float>(static_cast<size_t>(std::max<int64_t>(c, 3)), 1.0f / 255.0f)};
  std::vector<float> planes(static_cast<size_t>(c * h * w));
  std::vector<torch::Tensor> views;
  for (const auto& view : batch.views) views.push_back(view.to(torch::kCPU).contiguous());
  const torch::Tensor targets = batch.targets.defined() ? batch.targets.to(torch::kCPU).contiguous() : batch.targets;
  for (int64_t b = 0; b < rows; ++b) {
    const int64_t top = pad + b * row_h;
    // The original, converted to planar floats on the 0..255 scale (shown through an identity normalization).
    const uint8_t* src = originals_c.data_ptr<uint8_t>() + b * h * w * c;
    for (int64_t i = 0; i < h * w; ++i) {
      for (int64_t k = 0; k < c; ++k) planes[static_cast<size_t>(k * h * w + i)] = src[i * c + k];
    }
    int64_t left = pad;
    blit(canvas, planes.data(), c, h, w, identity, top + (g.cell_h - h * s) / 2, left + (g.cell_w - w * s) / 2, s);
    const std::string label = batch.labels.defined() ? "y=" + std::to_string(batch.labels[b].item<int64_t>())
                                                     : "#" + std::to_string(batch.indices[b].item<int64_t>());
    canvas.text(left + (g.cell_w - Canvas::text_width(label, fs)) / 2, top + g.cell_h + fs, label, yellow, fs);
    left += col_w + pad;  // a wider gap after the original
    for (size_t v = 0; v < batch.views.size(); ++v) {
      const auto& L = g.views[v];
      draw_view(canvas, views[v].data_ptr<float>() + b * L.patches * c * L.th * L.tw, L, c, norm, g, top, left, s);
      const std::string text = view_caption(targets, b, v, L);
      canvas.text(left + (g.cell_w - Canvas::text_width(text, fs)) / 2, top + g.cell_h + fs, text, white, fs);
      left += col_w;
    }
  }
  return canvas.pixels();
}

}  // namespace ssl::data
