#pragma once

namespace ssl::trainers {

/// Learning-rate multiplier at training progress `progress` in [0, 1]: linear warmup over the first
/// `warmup` fraction, then half-cosine decay to `final_fraction` at progress 1 (Loshchilov & Hutter 2017).
double warmup_cosine(double progress, double warmup, double final_fraction = 0.0);

}  // namespace ssl::trainers
