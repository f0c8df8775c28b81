//! The engine check's speed table, measured in the worker on the device it trains on.

use burn::tensor::Device;

use super::outbox::post;
use super::step::yield_now;
use crate::engine::tensor_io::ReadError;
use crate::protocol::{FromWorker, SpeedSettings};
use crate::tools::benchmark::{time_prediction, time_training};

/// The speed benchmark, one message per case as soon as it is measured.
pub(super) async fn measure_speed(
    settings: &SpeedSettings,
    branches: &[usize],
    device: &Device,
) -> Result<(), ReadError> {
    for &count in branches {
        for cached in [false, true] {
            if cached && count == 1 {
                continue;
            }
            let case = time_training(settings, count, cached, device).await?;
            post(&FromWorker::SpeedMeasured { case });
            yield_now().await;
        }
    }
    let most = branches.iter().copied().max().unwrap_or(1);
    post(&FromWorker::SpeedMeasured {
        case: time_prediction(settings, most, device).await?,
    });
    Ok(())
}
