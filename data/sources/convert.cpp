#include "sslkit/data/sources/convert.h"

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include <filesystem>
#include <optional>

#ifdef SSLKIT_WITH_OPENCV
#include "sslkit/data/sources/image_folder.h"
#endif

namespace fs = std::filesystem;

namespace ssl::data {
namespace {

#ifdef SSLKIT_WITH_OPENCV
// Decodes files [first, first + count) of the listing: one by one until the decoder knows the output size, then
// in parallel. An unreadable file is left empty.
std::vector<std::optional<torch::Tensor>> decode_block(const ImageFolderListing& listing, ImageDecoder& decoder,
                                                       int64_t first, int64_t count) {
  std::vector<std::optional<torch::Tensor>> decoded(static_cast<size_t>(count));
  int64_t k = 0;
  for (; k < count && !decoder.fixed(); ++k) {
    decoded[static_cast<size_t>(k)] = decoder.decode(listing.files[static_cast<size_t>(first + k)]);
  }
  at::parallel_for(k, count, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      decoded[static_cast<size_t>(i)] = decoder.decode_fixed(listing.files[static_cast<size_t>(first + i)]);
    }
  });
  return decoded;
}

// Appends `pixels` (whole images of the decoder's size) with their labels, and masks when the result has them.
void append_block(Hdf5Writer& writer, const ImageDecoder& decoder, std::vector<uint8_t>& pixels,
                  const std::vector<int64_t>& labels, bool labelled, int64_t mask_threshold) {
  if (pixels.empty()) return;
  const int64_t images = static_cast<int64_t>(pixels.size()) / (decoder.height() * decoder.width() * decoder.channels());
  torch::Tensor masks;
  if (mask_threshold >= 0) {
    masks = threshold_masks(torch::from_blob(pixels.data(), {images, decoder.height(), decoder.width(),
                                                             decoder.channels()}, torch::kUInt8),
                            mask_threshold);
  }
  writer.append(pixels.data(), labelled ? labels.data() : nullptr, images,
                masks.defined() ? masks.data_ptr<uint8_t>() : nullptr);
}

// Decodes the folder in blocks (in parallel once the output size is known) and appends each block.
ConvertResult convert_image_folder(const std::string& root, const std::string& out, const ConvertOptions& options,
                                   const std::function<void(int64_t, int64_t)>& progress) {
  const ImageFolderListing listing = list_image_folder(root);
  const int64_t n = static_cast<int64_t>(listing.files.size()), block = 256;
  const bool labelled = !listing.labels.empty();
  ImageDecoder decoder(options.source());
  std::optional<Hdf5Writer> writer;
  ConvertResult result;
  result.labelled = labelled;
  result.classes = listing.classes;
  result.masks = options.mask_threshold() >= 0;
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  for (int64_t first = 0; first < n; first += block) {
    const int64_t count = std::min(block, n - first);
    const auto decoded = decode_block(listing, decoder, first, count);
    pixels.clear();
    labels.clear();
    for (int64_t i = 0; i < count; ++i) {
      const std::string& file = listing.files[static_cast<size_t>(first + i)];
      const auto& image = decoded[static_cast<size_t>(i)];
      if (!image) {
        TORCH_CHECK(options.source().on_bad_image() == OnBadImage::Skip, bad_image_message(file));
        result.skipped.push_back(file);
        continue;
      }
      pixels.insert(pixels.end(), image->data_ptr<uint8_t>(), image->data_ptr<uint8_t>() + image->numel());
      if (labelled) labels.push_back(listing.labels[static_cast<size_t>(first + i)]);
    }
    if (!writer && decoder.fixed()) {
      writer.emplace(out, decoder.height(), decoder.width(), decoder.channels(), labelled, listing.classes,
                     Hdf5WriteOptions(options.hdf5()).masks(result.masks));
    }
    if (writer) append_block(*writer, decoder, pixels, labels, labelled, options.mask_threshold());
    if (progress) progress(first + count, n);
  }
  TORCH_CHECK(writer && writer->size() > 0, "image folder '", root, "' holds no readable images (unreadable files: ", n,
              ")");
  result.images = writer->size();
  result.height = decoder.height();
  result.width = decoder.width();
  result.channels = decoder.channels();
  writer->finish();
  return result;
}
#endif

}  // namespace

ConvertResult convert_to_hdf5(const std::string& spec, Split split, const std::string& out,
                              const ConvertOptions& options, const std::function<void(int64_t, int64_t)>& progress) {
  const std::string extension = fs::path(out).extension().string();
  TORCH_CHECK(extension == ".h5" || extension == ".hdf5", "output '", out, "' must be an .h5 file");
#ifndef SSLKIT_WITH_HDF5
  TORCH_CHECK(false, "cannot write '", out, "': sslkit was built without HDF5 support (configure with -DSSLKIT_WITH_HDF5=ON)");
#else
  const ResolvedSpec resolved = resolve_spec(spec, split);
  std::error_code ec;
  TORCH_CHECK(!fs::equivalent(resolved.path, out, ec), "output '", out, "' is the input file");
  if (resolved.kind == SpecKind::ImageFolder) {
#ifdef SSLKIT_WITH_OPENCV
    return convert_image_folder(resolved.path, out, options, progress);
#endif
  }
  TORCH_CHECK(options.mask_threshold() >= -1 && options.mask_threshold() <= 255, "mask threshold must be in 0..255, got ",
              options.mask_threshold());
  auto source = open_source(spec, split, options.source());
  if (options.mask_threshold() >= 0) source = with_threshold_masks(source, options.mask_threshold());
  write_hdf5(out, *source, options.hdf5(), progress);
  ConvertResult result;
  result.images = source->size();
  result.height = source->height();
  result.width = source->width();
  result.channels = source->channels();
  result.labelled = source->labelled();
  result.masks = source->has_masks();
  result.classes = source->classes();
  result.skipped = source->skipped();
  return result;
#endif
}

}  // namespace ssl::data
