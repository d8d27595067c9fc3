#ifndef DREAMVIDEO_CHDF5_SHIM_H
#define DREAMVIDEO_CHDF5_SHIM_H
#include <hdf5.h>
/* HDF5's type and property constants are macros around global ids; expose them as functions. */
static inline hid_t dv_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t dv_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t dv_h5s_all(void) { return H5S_ALL; }
static inline unsigned dv_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
/* Silence HDF5's own error printing: we report errors ourselves. */
static inline void dv_h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
/* Drop the errors a failed call left on the stack (otherwise the library cannot shut down cleanly at exit). */
static inline void dv_h5_clear_errors(void) { H5Eclear2(H5E_DEFAULT); }
#endif
