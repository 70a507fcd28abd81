// The one translation unit the fatbin is built from, so one module holds every entry point.
#include "bn_stats.cu"     // bn_stats_f32, bn_running_update_f32
#include "bn_relu.cu"      // bn_apply_f32, bn_backward_f32
#include "elementwise.cu"  // fill_f32, copy_f32, relu_f32, relu_backward_f32, dropout_forward_f32, dropout_forward_seeded_f32, dropout_backward_f32
#include "pool.cu"         // avgpool_{forward,backward}_f32, maxpool_{forward,backward}_f32, global_avgpool_{forward,backward}_f32
#include "loss.cu"         // softmax_xent_f32
#include "sgd.cu"          // sgd_step_f32, sgd_step_vec4_f32
#include "loss_scale.cu"   // loss_scale_f32, grads_nonfinite_f32, loss_scale_update_f32
#include "augment.cu"      // augment_crop_flip_u8
