#pragma once

namespace ssl::cli {

/// `sslkit pretrain`: self-supervised pretraining into a run directory.
int pretrain_main(int argc, char** argv);

/// `sslkit probe`: linear-probe evaluation of a checkpoint (or of raw pixels).
int probe_main(int argc, char** argv);

/// `sslkit embed`: frozen-encoder features of a data set into an HDF5 feature file.
int embed_main(int argc, char** argv);

/// `sslkit export`: a checkpoint's encoder as a self-contained TorchScript feature extractor.
int export_main(int argc, char** argv);
/// `sslkit convert`: packs an IDX pair or an image folder into an HDF5 file.
int convert_main(int argc, char** argv);

/// `sslkit bench`: benchmarks (`mi`, `losses`, `data`, `sources`), dispatched on argv[1].
int bench_main(int argc, char** argv);

/// `sslkit views`: a PNG grid of a pretext view's inputs for a few images.
int views_main(int argc, char** argv);

/// `sslkit report`: one table comparing run directories.
int report_main(int argc, char** argv);

/// `sslkit launch`: runs a subcommand as N local processes of a data-parallel job.
int launch_main(int argc, char** argv);

}  // namespace ssl::cli
