#pragma once
/// Umbrella header of sslkit's loss library (target sslkit::losses, depends on LibTorch alone).
#include "sslkit/losses/barlow_twins.h"
#include "sslkit/losses/cpc.h"
#include "sslkit/losses/critics.h"
#include "sslkit/losses/dino.h"
#include "sslkit/losses/info_nce.h"
#include "sslkit/losses/mi_bounds.h"
#include "sslkit/losses/nce.h"
#include "sslkit/losses/negative_cosine.h"
#include "sslkit/losses/nt_xent.h"
#include "sslkit/losses/reduction.h"
#include "sslkit/losses/sinkhorn.h"
#include "sslkit/losses/vicreg.h"
