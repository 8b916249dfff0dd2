#pragma once
/// Umbrella header of sslkit's loss library (target sslkit::losses, depends on LibTorch alone).
#include "sslkit/losses/nt_xent.h"
#include "sslkit/losses/reduction.h"
