// The one translation unit the fatbin is built from, so one module holds every entry point.
// Kernels over activations come in float32 (_f32) and in the two 16-bit storage types (_bf16, _f16).
#include "bn_stats.cu"     // bn_stats_{partial,finalize}_{f32,bf16,f16}, bn_running_update_f32
#include "bn_relu.cu"      // bn_apply_*, bn_backward_{reduce,dx}_*
#include "elementwise.cu"  // fill_*, copy_* (and copy_<src>_<dst> conversions), relu_*, relu_backward_*, dropout_{forward,forward_seeded,backward}_*
#include "pool.cu"         // avgpool_{forward,backward}_*, maxpool_{forward,backward}_*, global_avgpool_{forward,backward}_*
#include "loss.cu"         // softmax_xent_f32
#include "sgd.cu"          // sgd_step_{,vec4_}{f32,bf16,f16}
#include "loss_scale.cu"   // loss_scale_f32, grads_nonfinite_f32, loss_scale_update_f32
#include "augment.cu"      // augment_crop_flip_u8{,_bf16,_f16}
