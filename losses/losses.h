#pragma once
/// Umbrella header of sslkit's loss library (target sslkit::losses, depends on LibTorch alone).
#include "sslkit/losses/cpc.h"
#include "sslkit/losses/critics.h"
#include "sslkit/losses/info_nce.h"
#include "sslkit/losses/mi_bounds.h"
#include "sslkit/losses/nce.h"
#include "sslkit/losses/nt_xent.h"
#include "sslkit/losses/reduction.h"
