#include "sslkit/data/sources/hdf5.h"

#include "sslkit/data/sources/detail/hdf5_handle.h"
#include "sslkit/ssl/files.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>

namespace ssl::data {

using namespace hdf5;

struct Hdf5Source::Impl {
  std::string path;
  Handle file, images, space, masks, mask_space;
  int64_t n = 0, h = 0, w = 0, c = 0, chunk = 0;
  std::vector<int64_t> labels;
  std::vector<std::string> classes;

  // Reads images [first, first + count) into `out`. Caller holds the lock.
  void read_run(int64_t first, int64_t count, uint8_t* out) const {
    const hsize_t start[4] = {static_cast<hsize_t>(first), 0, 0, 0};
    const hsize_t extent[4] = {static_cast<hsize_t>(count), static_cast<hsize_t>(h), static_cast<hsize_t>(w),
                               static_cast<hsize_t>(c)};
    // The memory space has the selection's own shape: HDF5 then copies contiguous rows instead of walking a
    // 4-D selection against a 1-D buffer element by element (10x slower).
    Handle memory(H5Screate_simple(4, extent, nullptr), H5Sclose);
    const bool ok = memory.valid() &&
                    H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, extent, nullptr) >= 0 &&
                    H5Dread(images.get(), H5T_NATIVE_UINT8, memory.get(), space.get(), H5P_DEFAULT, out) >= 0;
    TORCH_CHECK(ok, "'", path, "': cannot read images ", first, "..", first + count - 1, " of /images");
  }

  // Reads masks [first, first + count) into `out` and checks they are 0 or 1. Caller holds the lock.
  void read_mask_run(int64_t first, int64_t count, uint8_t* out) const {
    const hsize_t start[3] = {static_cast<hsize_t>(first), 0, 0};
    const hsize_t extent[3] = {static_cast<hsize_t>(count), static_cast<hsize_t>(h), static_cast<hsize_t>(w)};
    Handle memory(H5Screate_simple(3, extent, nullptr), H5Sclose);
    const bool ok = memory.valid() &&
                    H5Sselect_hyperslab(mask_space.get(), H5S_SELECT_SET, start, nullptr, extent, nullptr) >= 0 &&
                    H5Dread(masks.get(), H5T_NATIVE_UINT8, memory.get(), mask_space.get(), H5P_DEFAULT, out) >= 0;
    TORCH_CHECK(ok, "'", path, "': cannot read masks ", first, "..", first + count - 1, " of /masks");
    const int64_t pixels = h * w;
    for (int64_t i = 0; i < count * pixels; ++i) {
      TORCH_CHECK(out[i] <= 1, "'", path, "': dataset /masks has value ", static_cast<int>(out[i]), " in image ",
                  first + i / pixels, ", expected 0 or 1");
    }
  }

  // Reads the optional /classes list of strings.
  void read_classes() {
    if (!has_link(file.get(), "classes")) return;
    Handle set(H5Dopen2(file.get(), "classes", H5P_DEFAULT), H5Dclose);
    TORCH_CHECK(set.valid(), "'", path, "': /classes is not a dataset (expected a list of strings)");
    Handle type(H5Dget_type(set.get()), H5Tclose);
    TORCH_CHECK(H5Tget_class(type.get()) == H5T_STRING, "'", path, "': dataset /classes has type ",
                type_name(type.get()), ", expected strings");
    Handle space(H5Dget_space(set.get()), H5Sclose);
    const auto cdims = dims_of(space.get());
    TORCH_CHECK(cdims.size() == 1, "'", path, "': dataset /classes has rank ", cdims.size(),
                ", expected 1 (a list of strings)");
    const size_t k = cdims[0];
    if (H5Tis_variable_str(type.get()) > 0) {
      Handle memory_type(H5Tcopy(H5T_C_S1), H5Tclose);
      H5Tset_size(memory_type.get(), H5T_VARIABLE);
      H5Tset_cset(memory_type.get(), H5Tget_cset(type.get()));
      std::vector<char*> names(k, nullptr);
      TORCH_CHECK(k == 0 || H5Dread(set.get(), memory_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, names.data()) >= 0,
                  "'", path, "': cannot read dataset /classes");
      for (char* name : names) classes.emplace_back(name ? name : "");
      if (k > 0) H5Dvlen_reclaim(memory_type.get(), space.get(), H5P_DEFAULT, names.data());
    } else {
      const size_t width = H5Tget_size(type.get());
      Handle memory_type(H5Tcopy(H5T_C_S1), H5Tclose);
      H5Tset_size(memory_type.get(), width);
      H5Tset_cset(memory_type.get(), H5Tget_cset(type.get()));
      std::vector<char> buffer(k * width + 1, '\0');
      TORCH_CHECK(k == 0 || H5Dread(set.get(), memory_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()) >= 0,
                  "'", path, "': cannot read dataset /classes");
      for (size_t i = 0; i < k; ++i) classes.emplace_back(buffer.data() + i * width, strnlen(buffer.data() + i * width, width));
    }
  }

  // Opens the optional /masks, uint8 [N,H,W] like /images.
  void open_masks(hid_t access, const std::vector<hsize_t>& dims) {
    if (!has_link(file.get(), "masks")) return;
    masks = Handle(H5Dopen2(file.get(), "masks", access), H5Dclose);
    TORCH_CHECK(masks.valid(), "'", path, "': /masks is not a dataset (expected uint8 [N,H,W])");
    Handle type(H5Dget_type(masks.get()), H5Tclose);
    const bool is_uint8 = H5Tget_class(type.get()) == H5T_INTEGER && H5Tget_size(type.get()) == 1 &&
                          H5Tget_sign(type.get()) == H5T_SGN_NONE;
    TORCH_CHECK(is_uint8, "'", path, "': dataset /masks has type ", type_name(type.get()), ", expected uint8");
    mask_space = Handle(H5Dget_space(masks.get()), H5Sclose);
    const auto mdims = dims_of(mask_space.get());
    const std::vector<hsize_t> expected{dims[0], dims[1], dims[2]};
    TORCH_CHECK(mdims == expected, "'", path, "': dataset /masks has shape ", shape_text(mdims), ", expected ",
                shape_text(expected), " (the [N,H,W] of /images)");
  }

  // Reads the optional /labels, int64 [N] within /classes when it is given.
  void read_labels() {
    if (!has_link(file.get(), "labels")) return;
    Handle set(H5Dopen2(file.get(), "labels", H5P_DEFAULT), H5Dclose);
    TORCH_CHECK(set.valid(), "'", path, "': /labels is not a dataset (expected int64 [N])");
    Handle type(H5Dget_type(set.get()), H5Tclose);
    TORCH_CHECK(H5Tget_class(type.get()) == H5T_INTEGER, "'", path, "': dataset /labels has type ",
                type_name(type.get()), ", expected int64");
    Handle space(H5Dget_space(set.get()), H5Sclose);
    const auto ldims = dims_of(space.get());
    TORCH_CHECK(ldims.size() == 1, "'", path, "': dataset /labels has rank ", ldims.size(), " (shape ",
                shape_text(ldims), "), expected 1 ([N])");
    TORCH_CHECK(static_cast<int64_t>(ldims[0]) == n, "'", path, "': dataset /labels holds ", ldims[0],
                " labels but /images holds ", n, " images");
    labels.resize(static_cast<size_t>(n));
    TORCH_CHECK(H5Dread(set.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels.data()) >= 0, "'",
                path, "': cannot read dataset /labels");
    const int64_t limit = classes.empty() ? kMaxUnnamedClasses : static_cast<int64_t>(classes.size());
    for (size_t i = 0; i < labels.size(); ++i) {
      const int64_t label = labels[i];
      if (label >= 0 && label < limit) continue;
      if (classes.empty()) {
        TORCH_CHECK(false, "'", path, "': dataset /labels has label ", label, " at index ", i, ", expected 0..",
                    limit - 1, " (a file without /classes has at most ", limit, " classes)");
      }
      TORCH_CHECK(false, "'", path, "': dataset /labels has label ", label, " at index ", i, ", expected 0..",
                  limit - 1, " (/classes lists ", limit, ")");
    }
  }
};

Hdf5Source::Hdf5Source(const std::string& path, int64_t cache_bytes) : impl_(std::make_unique<Impl>()) {
  Hdf5Lock lock;
  try {
    open(path, cache_bytes);
  } catch (...) {
    impl_.reset();  // closes what was opened while the lock is held
    throw;
  }
}

void Hdf5Source::open(const std::string& path, int64_t cache_bytes) {
  Impl& m = *impl_;
  m.path = path;
  TORCH_CHECK(std::filesystem::is_regular_file(path), "'", path, "': no such HDF5 file");
  TORCH_CHECK(H5Fis_hdf5(path.c_str()) > 0, "'", path, "': not an HDF5 file");
  m.file = Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  TORCH_CHECK(m.file.valid(), "'", path, "': cannot open the HDF5 file");
  TORCH_CHECK(has_link(m.file.get(), "images"), "'", path, "': no dataset /images (expected uint8 [N,H,W,C])");

  Handle access(H5Pcreate(H5P_DATASET_ACCESS), H5Pclose);
  H5Pset_chunk_cache(access.get(), 521, static_cast<size_t>(std::max<int64_t>(cache_bytes, 0)), 1.0);
  m.images = Handle(H5Dopen2(m.file.get(), "images", access.get()), H5Dclose);
  TORCH_CHECK(m.images.valid(), "'", path, "': /images is not a dataset (expected uint8 [N,H,W,C])");
  m.space = Handle(H5Dget_space(m.images.get()), H5Sclose);
  const auto dims = dims_of(m.space.get());
  TORCH_CHECK(dims.size() == 4, "'", path, "': dataset /images has rank ", dims.size(), " (shape ",
              shape_text(dims), "), expected 4 ([N,H,W,C])");
  {
    Handle type(H5Dget_type(m.images.get()), H5Tclose);
    const bool is_uint8 = H5Tget_class(type.get()) == H5T_INTEGER && H5Tget_size(type.get()) == 1 &&
                          H5Tget_sign(type.get()) == H5T_SGN_NONE;
    TORCH_CHECK(is_uint8, "'", path, "': dataset /images has type ", type_name(type.get()),
                ", expected uint8");
  }
  m.n = static_cast<int64_t>(dims[0]);
  m.h = static_cast<int64_t>(dims[1]);
  m.w = static_cast<int64_t>(dims[2]);
  m.c = static_cast<int64_t>(dims[3]);
  TORCH_CHECK(m.n > 0 && m.h > 0 && m.w > 0, "'", path, "': dataset /images has shape ", shape_text(dims),
              ", expected at least one image of at least 1x1 pixels");
  TORCH_CHECK(m.c == 1 || m.c == 3, "'", path, "': dataset /images has ", m.c, " channels (shape ",
              shape_text(dims), "), expected 1 or 3");
  {
    Handle create(H5Dget_create_plist(m.images.get()), H5Pclose);
    if (H5Pget_layout(create.get()) == H5D_CHUNKED) {
      hsize_t chunk[4] = {0, 0, 0, 0};
      if (H5Pget_chunk(create.get(), 4, chunk) == 4) m.chunk = static_cast<int64_t>(chunk[0]);
    }
  }
  m.read_classes();
  m.open_masks(access.get(), dims);
  m.read_labels();
}

Hdf5Source::~Hdf5Source() {
  Hdf5Lock lock;
  impl_.reset();
}

int64_t Hdf5Source::size() const { return impl_->n; }
int64_t Hdf5Source::height() const { return impl_->h; }
int64_t Hdf5Source::width() const { return impl_->w; }
int64_t Hdf5Source::channels() const { return impl_->c; }
bool Hdf5Source::labelled() const { return !impl_->labels.empty(); }
std::vector<std::string> Hdf5Source::classes() const { return impl_->classes; }
std::string Hdf5Source::origin() const { return impl_->path; }
int64_t Hdf5Source::chunk_images() const { return impl_->chunk; }
bool Hdf5Source::has_masks() const { return impl_->masks.valid(); }

void Hdf5Source::read_masks(const int64_t* indices, int64_t count, uint8_t* masks) const {
  const Impl& m = *impl_;
  TORCH_CHECK(m.masks.valid(), "'", m.path, "' has no dataset /masks");
  for (int64_t k = 0; k < count; ++k) {
    TORCH_CHECK(indices[k] >= 0 && indices[k] < m.n, "'", m.path, "': image index ", indices[k],
                " is outside [0, ", m.n, ")");
  }
  Hdf5Lock lock;
  for (int64_t k = 0; k < count;) {
    int64_t run = 1;
    while (k + run < count && indices[k + run] == indices[k] + run) ++run;
    m.read_mask_run(indices[k], run, masks + k * m.h * m.w);
    k += run;
  }
}

void Hdf5Source::read(const int64_t* indices, int64_t count, uint8_t* pixels, int64_t* labels) const {
  const Impl& m = *impl_;
  for (int64_t k = 0; k < count; ++k) {
    TORCH_CHECK(indices[k] >= 0 && indices[k] < m.n, "'", m.path, "': image index ", indices[k],
                " is outside [0, ", m.n, ")");
  }
  const int64_t bytes = m.h * m.w * m.c;
  Hdf5Lock lock;
  for (int64_t k = 0; k < count;) {
    int64_t run = 1;
    while (k + run < count && indices[k + run] == indices[k] + run) ++run;
    m.read_run(indices[k], run, pixels + k * bytes);
    k += run;
  }
  if (labels && !m.labels.empty()) {
    for (int64_t k = 0; k < count; ++k) labels[k] = m.labels[static_cast<size_t>(indices[k])];
  }
}

struct Hdf5Writer::Impl {
  std::string path, tmp;
  std::optional<TemporaryFileGuard> guard;
  Handle file, images, labels, masks;
  int64_t h = 0, w = 0, c = 0, n = 0;
  bool labelled = false, finished = false;
};

Hdf5Writer::Hdf5Writer(const std::string& path, int64_t height, int64_t width, int64_t channels, bool labelled,
                       std::vector<std::string> classes, Hdf5WriteOptions options)
    : impl_(std::make_unique<Impl>()) {
  try {
    create(path, height, width, channels, labelled, classes, options);
  } catch (...) {
    discard();
    throw;
  }
}

void Hdf5Writer::discard() {
  {
    Hdf5Lock lock;
    impl_->labels.reset();
    impl_->images.reset();
    impl_->masks.reset();
    impl_->file.reset();
  }
  if (!impl_->tmp.empty()) std::remove(impl_->tmp.c_str());
}

void Hdf5Writer::create(const std::string& path, int64_t height, int64_t width, int64_t channels, bool labelled,
                        const std::vector<std::string>& classes, const Hdf5WriteOptions& options) {
  Impl& m = *impl_;
  TORCH_CHECK(height > 0 && width > 0 && (channels == 1 || channels == 3), "cannot write '", path,
              "': images must be at least 1x1 with 1 or 3 channels, got ", height, "x", width, "x", channels);
  TORCH_CHECK(options.compression() >= 0 && options.compression() <= 9, "cannot write '", path,
              "': compression level ", options.compression(), " is outside 0..9");
  TORCH_CHECK(options.chunk_images() >= 0, "cannot write '", path, "': chunk_images must be >= 0, got ",
              options.chunk_images());
  m.path = path;
  m.tmp = path + ".tmp." + std::to_string(::getpid());
  m.h = height;
  m.w = width;
  m.c = channels;
  m.labelled = labelled;
  m.guard.emplace(m.tmp);
  Hdf5Lock lock;
  m.file = Handle(H5Fcreate(m.tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  TORCH_CHECK(m.file.valid(), "cannot write '", path, "': cannot create '", m.tmp, "'");

  const int64_t image_bytes = height * width * channels;
  const int64_t chunk = options.chunk_images() > 0 ? options.chunk_images()
                                                   : std::max<int64_t>(1, (128 << 10) / image_bytes);
  const auto h = static_cast<hsize_t>(height), w = static_cast<hsize_t>(width);
  const auto rows = static_cast<hsize_t>(chunk);
  const int compression = options.compression();
  m.images = create_row_dataset(m.file.get(), path, "images", H5T_STD_U8LE, {h, w, static_cast<hsize_t>(channels)},
                                rows, compression);
  if (options.masks()) {
    m.masks = create_row_dataset(m.file.get(), path, "masks", H5T_STD_U8LE, {h, w}, rows, compression);
  }
  if (labelled) m.labels = create_row_dataset(m.file.get(), path, "labels", H5T_STD_I64LE, {}, 4096);
  if (!classes.empty()) {
    const hsize_t dims[1] = {classes.size()};
    Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.get(), H5T_VARIABLE);
    H5Tset_cset(type.get(), H5T_CSET_UTF8);
    Handle set(H5Dcreate2(m.file.get(), "classes", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
               H5Dclose);
    std::vector<const char*> names;
    for (const auto& name : classes) names.push_back(name.c_str());
    TORCH_CHECK(set.valid() && H5Dwrite(set.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, names.data()) >= 0,
                "cannot write '", path, "': cannot write dataset /classes");
  }
}

Hdf5Writer::~Hdf5Writer() {
  if (!impl_->finished) discard();
}

int64_t Hdf5Writer::size() const { return impl_->n; }

void Hdf5Writer::append(const uint8_t* pixels, const int64_t* labels, int64_t count, const uint8_t* masks) {
  Impl& m = *impl_;
  TORCH_CHECK(!m.finished, "cannot write '", m.path, "': the file is already finished");
  TORCH_CHECK(!m.labelled || labels, "cannot write '", m.path, "': labels are required for a labelled file");
  TORCH_CHECK(!m.masks.valid() || masks, "cannot write '", m.path, "': masks are required for a file with /masks");
  if (count <= 0) return;
  Hdf5Lock lock;
  {
    const hsize_t after[4] = {static_cast<hsize_t>(m.n + count), static_cast<hsize_t>(m.h),
                              static_cast<hsize_t>(m.w), static_cast<hsize_t>(m.c)};
    const hsize_t start[4] = {static_cast<hsize_t>(m.n), 0, 0, 0};
    const hsize_t extent[4] = {static_cast<hsize_t>(count), after[1], after[2], after[3]};
    extend_and_write(m.path, m.images.get(), 4, after, start, extent, H5T_NATIVE_UINT8, pixels, "/images");
  }
  if (m.labelled) {
    const hsize_t after[1] = {static_cast<hsize_t>(m.n + count)};
    const hsize_t start[1] = {static_cast<hsize_t>(m.n)};
    const hsize_t extent[1] = {static_cast<hsize_t>(count)};
    extend_and_write(m.path, m.labels.get(), 1, after, start, extent, H5T_NATIVE_INT64, labels, "/labels");
  }
  if (m.masks.valid()) {
    const hsize_t after[3] = {static_cast<hsize_t>(m.n + count), static_cast<hsize_t>(m.h), static_cast<hsize_t>(m.w)};
    const hsize_t start[3] = {static_cast<hsize_t>(m.n), 0, 0};
    const hsize_t extent[3] = {static_cast<hsize_t>(count), after[1], after[2]};
    extend_and_write(m.path, m.masks.get(), 3, after, start, extent, H5T_NATIVE_UINT8, masks, "/masks");
  }
  m.n += count;
}

void Hdf5Writer::finish() {
  Impl& m = *impl_;
  TORCH_CHECK(!m.finished, "cannot write '", m.path, "': the file is already finished");
  TORCH_CHECK(m.n > 0, "cannot write '", m.path, "': no images to write");
  finish_atomic({&m.labels, &m.images, &m.masks}, m.file, m.tmp, m.path);
  m.finished = true;
  m.guard.reset();
}

void write_hdf5(const std::string& path, const Source& source, const Hdf5WriteOptions& options,
                const std::function<void(int64_t, int64_t)>& progress) {
  Hdf5WriteOptions layout = options;
  layout.masks(source.has_masks());
  Hdf5Writer writer(path, source.height(), source.width(), source.channels(), source.labelled(), source.classes(),
                    layout);
  const int64_t n = source.size(), block = std::max<int64_t>(1, (8 << 20) / source.image_bytes());
  std::vector<uint8_t> pixels(static_cast<size_t>(std::min(n, block) * source.image_bytes()));
  std::vector<int64_t> labels(static_cast<size_t>(std::min(n, block))), indices(labels.size());
  std::vector<uint8_t> masks(source.has_masks() ? labels.size() * static_cast<size_t>(source.height() * source.width()) : 0);
  for (int64_t first = 0; first < n; first += block) {
    const int64_t count = std::min(block, n - first);
    for (int64_t k = 0; k < count; ++k) indices[static_cast<size_t>(k)] = first + k;
    source.read(indices.data(), count, pixels.data(), labels.data());
    if (source.has_masks()) source.read_masks(indices.data(), count, masks.data());
    writer.append(pixels.data(), source.labelled() ? labels.data() : nullptr, count,
                  source.has_masks() ? masks.data() : nullptr);
    if (progress) progress(first + count, n);
  }
  writer.finish();
}

}  // namespace ssl::data
