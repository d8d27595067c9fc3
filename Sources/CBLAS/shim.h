#ifndef DREAMVIDEO_CBLAS_SHIM_H
#define DREAMVIDEO_CBLAS_SHIM_H
#include <cblas.h>
#endif
