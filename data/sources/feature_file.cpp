#include "sslkit/data/sources/feature_file.h"

#include <c10/util/Exception.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <vector>

#ifdef SSLKIT_WITH_HDF5
#include "sslkit/data/sources/detail/hdf5_handle.h"
#include "sslkit/data/sources/source.h"
#include "sslkit/ssl/files.h"
#endif

namespace ssl::data {

#ifdef SSLKIT_WITH_HDF5
using namespace hdf5;

namespace {

void write_text_attribute(hid_t file, const std::string& path, const std::string& name, const std::string& value) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attribute(H5Acreate2(file, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  const char* text = value.c_str();
  TORCH_CHECK(attribute.valid() && H5Awrite(attribute.get(), type.get(), &text) >= 0, "cannot write '", path,
              "': cannot write attribute ", name);
}

void write_integer_attribute(hid_t file, const std::string& path, const std::string& name, int64_t value) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attribute(H5Acreate2(file, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  TORCH_CHECK(attribute.valid() && H5Awrite(attribute.get(), H5T_NATIVE_INT64, &value) >= 0, "cannot write '", path,
              "': cannot write attribute ", name);
}

// H5Aiterate2 callback: reads scalar string and integer attributes into a FeatureAttributes.
herr_t read_attribute(hid_t location, const char* name, const H5A_info_t*, void* out) {
  auto& attributes = *static_cast<FeatureAttributes*>(out);
  Handle attribute(H5Aopen(location, name, H5P_DEFAULT), H5Aclose);
  if (!attribute.valid()) return 0;
  Handle type(H5Aget_type(attribute.get()), H5Tclose);
  Handle space(H5Aget_space(attribute.get()), H5Sclose);
  if (H5Sget_simple_extent_npoints(space.get()) != 1) return 0;
  if (H5Tget_class(type.get()) == H5T_INTEGER) {
    int64_t value = 0;
    if (H5Aread(attribute.get(), H5T_NATIVE_INT64, &value) >= 0) attributes.integers[name] = value;
  } else if (H5Tget_class(type.get()) == H5T_STRING) {
    Handle memory_type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_cset(memory_type.get(), H5Tget_cset(type.get()));
    if (H5Tis_variable_str(type.get()) > 0) {
      H5Tset_size(memory_type.get(), H5T_VARIABLE);
      char* text = nullptr;
      if (H5Aread(attribute.get(), memory_type.get(), &text) >= 0 && text) {
        attributes.text[name] = text;
        H5free_memory(text);
      }
    } else {
      const size_t width = H5Tget_size(type.get());
      H5Tset_size(memory_type.get(), width);
      std::vector<char> buffer(width + 1, '\0');
      if (H5Aread(attribute.get(), memory_type.get(), buffer.data()) >= 0) {
        attributes.text[name] = std::string(buffer.data(), strnlen(buffer.data(), width));
      }
    }
  }
  return 0;
}

// Throws naming the first row of `features` (read from /features of `path`) that holds a NaN or an infinity.
void check_finite_rows(const std::string& path, const torch::Tensor& features) {
  const auto finite = torch::isfinite(features);
  if (finite.all().item<bool>()) return;
  const auto first = torch::logical_not(finite).nonzero()[0];
  const int64_t row = first[0].item<int64_t>(), column = first[1].item<int64_t>();
  TORCH_CHECK_VALUE(false, "'", path, "': dataset /features has ", features[row][column].item<float>(), " in row ",
                    row, " (column ", column, "), expected finite values");
}

// Reads /labels of `file` (at `path`), which must hold `n` labels >= 0.
torch::Tensor read_feature_labels(hid_t file, const std::string& path, int64_t n) {
  Handle set(H5Dopen2(file, "labels", H5P_DEFAULT), H5Dclose);
  TORCH_CHECK(set.valid(), "'", path, "': /labels is not a dataset (expected int64 [N])");
  Handle type(H5Dget_type(set.get()), H5Tclose);
  TORCH_CHECK(H5Tget_class(type.get()) == H5T_INTEGER, "'", path, "': dataset /labels has type ",
              type_name(type.get()), ", expected int64");
  Handle space(H5Dget_space(set.get()), H5Sclose);
  const auto dims = dims_of(space.get());
  TORCH_CHECK(dims.size() == 1, "'", path, "': dataset /labels has rank ", dims.size(), " (shape ",
              shape_text(dims), "), expected 1 ([N])");
  TORCH_CHECK(static_cast<int64_t>(dims[0]) == n, "'", path, "': dataset /labels holds ", dims[0],
              " labels but /features holds ", n, " rows");
  auto labels = torch::empty({n}, torch::kInt64);
  TORCH_CHECK(H5Dread(set.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels.data_ptr<int64_t>()) >= 0,
              "'", path, "': cannot read dataset /labels");
  const int64_t* values = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    TORCH_CHECK(values[i] >= 0 && values[i] < kMaxUnnamedClasses, "'", path, "': dataset /labels has label ",
                values[i], " at index ", i, ", expected 0..", kMaxUnnamedClasses - 1, " (at most ", kMaxUnnamedClasses,
                " classes)");
  }
  return labels;
}

}  // namespace

struct FeatureWriter::Impl {
  std::string path, tmp;
  std::optional<TemporaryFileGuard> guard;
  Handle file, features, labels;
  int64_t dim = 0, n = 0;
  bool finished = false;

  void discard() {
    {
      Hdf5Lock lock;
      labels.reset();
      features.reset();
      file.reset();
    }
    if (!tmp.empty()) std::remove(tmp.c_str());
  }

  void create(const std::string& out, int64_t width, bool labelled, const FeatureAttributes& attributes) {
    TORCH_CHECK(width > 0, "cannot write '", out, "': feature width must be > 0, got ", width);
    path = out;
    tmp = out + ".tmp." + std::to_string(::getpid());
    dim = width;
    guard.emplace(tmp);
    Hdf5Lock lock;
    file = Handle(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    TORCH_CHECK(file.valid(), "cannot write '", out, "': cannot create '", tmp, "'");
    // About 256 KiB per chunk: a reader of a row block touches few chunks.
    const auto rows = static_cast<hsize_t>(std::max<int64_t>(1, (256 << 10) / (4 * width)));
    features = create_row_dataset(file.get(), out, "features", H5T_IEEE_F32LE, {static_cast<hsize_t>(width)}, rows);
    if (labelled) labels = create_row_dataset(file.get(), out, "labels", H5T_STD_I64LE, {}, 4096);
    for (const auto& [name, value] : attributes.text) write_text_attribute(file.get(), out, name, value);
    for (const auto& [name, value] : attributes.integers) write_integer_attribute(file.get(), out, name, value);
  }
};

FeatureWriter::FeatureWriter(const std::string& path, int64_t dim, bool labelled, const FeatureAttributes& attributes)
    : impl_(std::make_unique<Impl>()) {
  try {
    impl_->create(path, dim, labelled, attributes);
  } catch (...) {
    impl_->discard();
    throw;
  }
}

FeatureWriter::~FeatureWriter() {
  if (!impl_->finished) impl_->discard();
}

int64_t FeatureWriter::size() const { return impl_->n; }

void FeatureWriter::append(const torch::Tensor& features, const torch::Tensor& labels) {
  Impl& m = *impl_;
  TORCH_CHECK(!m.finished, "cannot write '", m.path, "': the file is already finished");
  TORCH_CHECK(features.dim() == 2 && features.size(1) == m.dim, "cannot write '", m.path, "': rows of shape ",
              features.sizes(), ", expected [B, ", m.dim, "]");
  const int64_t count = features.size(0);
  TORCH_CHECK(!m.labels.valid() || (labels.defined() && labels.dim() == 1 && labels.size(0) == count),
              "cannot write '", m.path, "': ", count, " rows need ", count, " labels");
  if (count == 0) return;
  const auto rows = features.to(torch::kCPU, torch::kFloat).contiguous();
  Hdf5Lock lock;
  {
    const hsize_t after[2] = {static_cast<hsize_t>(m.n + count), static_cast<hsize_t>(m.dim)};
    const hsize_t start[2] = {static_cast<hsize_t>(m.n), 0};
    const hsize_t extent[2] = {static_cast<hsize_t>(count), after[1]};
    extend_and_write(m.path, m.features.get(), 2, after, start, extent, H5T_NATIVE_FLOAT, rows.data_ptr<float>(),
                     "/features");
  }
  if (m.labels.valid()) {
    const auto values = labels.to(torch::kCPU, torch::kInt64).contiguous();
    const hsize_t after[1] = {static_cast<hsize_t>(m.n + count)};
    const hsize_t start[1] = {static_cast<hsize_t>(m.n)};
    const hsize_t extent[1] = {static_cast<hsize_t>(count)};
    extend_and_write(m.path, m.labels.get(), 1, after, start, extent, H5T_NATIVE_INT64, values.data_ptr<int64_t>(),
                     "/labels");
  }
  m.n += count;
}

void FeatureWriter::finish() {
  Impl& m = *impl_;
  TORCH_CHECK(!m.finished, "cannot write '", m.path, "': the file is already finished");
  TORCH_CHECK(m.n > 0, "cannot write '", m.path, "': no feature rows to write");
  finish_atomic({&m.labels, &m.features}, m.file, m.tmp, m.path);
  m.finished = true;
  m.guard.reset();
}

FeatureFile read_feature_file(const std::string& path, bool need_labels) {
  FeatureFile out;
  out.path = path;
  TORCH_CHECK(std::filesystem::is_regular_file(path), "'", path, "': no such HDF5 file");
  Hdf5Lock lock;
  TORCH_CHECK(H5Fis_hdf5(path.c_str()) > 0, "'", path, "': not an HDF5 file");
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  TORCH_CHECK(file.valid(), "'", path, "': cannot open the HDF5 file");
  TORCH_CHECK(has_link(file.get(), "features"), "'", path, "': no dataset /features (expected float32 [N,D])");
  Handle features(H5Dopen2(file.get(), "features", H5P_DEFAULT), H5Dclose);
  TORCH_CHECK(features.valid(), "'", path, "': /features is not a dataset (expected float32 [N,D])");
  int64_t n = 0;
  {
    Handle type(H5Dget_type(features.get()), H5Tclose);
    TORCH_CHECK(H5Tget_class(type.get()) == H5T_FLOAT && H5Tget_size(type.get()) == 4, "'", path,
                "': dataset /features has type ", type_name(type.get()), ", expected float32");
    Handle space(H5Dget_space(features.get()), H5Sclose);
    const auto dims = dims_of(space.get());
    TORCH_CHECK(dims.size() == 2, "'", path, "': dataset /features has rank ", dims.size(), " (shape ",
                shape_text(dims), "), expected 2 ([N,D])");
    TORCH_CHECK(dims[0] > 0 && dims[1] > 0, "'", path, "': dataset /features has shape ", shape_text(dims),
                ", expected at least one row of at least one value");
    n = static_cast<int64_t>(dims[0]);
    out.features = torch::empty({n, static_cast<int64_t>(dims[1])}, torch::kFloat);
    TORCH_CHECK(H5Dread(features.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                        out.features.data_ptr<float>()) >= 0,
                "'", path, "': cannot read dataset /features");
    check_finite_rows(path, out.features);
  }
  if (has_link(file.get(), "labels")) {
    out.labels = read_feature_labels(file.get(), path, n);
  } else {
    TORCH_CHECK(!need_labels, "'", path, "': no dataset /labels (the probe needs labels: expected int64 [N])");
  }
  hsize_t index = 0;
  H5Aiterate2(file.get(), H5_INDEX_NAME, H5_ITER_INC, &index, read_attribute, &out.attributes);
  return out;
}

#else  // without HDF5

namespace {
[[noreturn]] void no_hdf5(const std::string& path) {
  throw std::runtime_error("'" + path + "': sslkit was built without HDF5 support (configure with -DSSLKIT_WITH_HDF5=ON)");
}
}  // namespace

struct FeatureWriter::Impl {};
FeatureWriter::FeatureWriter(const std::string& path, int64_t, bool, const FeatureAttributes&) { no_hdf5(path); }
FeatureWriter::~FeatureWriter() = default;
int64_t FeatureWriter::size() const { return 0; }
void FeatureWriter::append(const torch::Tensor&, const torch::Tensor&) {}
void FeatureWriter::finish() {}
FeatureFile read_feature_file(const std::string& path, bool) { no_hdf5(path); }

#endif

void check_same_width(const FeatureFile& train, const FeatureFile& test) {
  TORCH_CHECK(train.features.size(1) == test.features.size(1), "'", test.path, "': dataset /features has ",
              test.features.size(1), " columns but '", train.path, "' has ", train.features.size(1),
              " (train and test features must come from the same encoder)");
}

}  // namespace ssl::data
