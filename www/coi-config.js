// Settings for coi-serviceworker (it reads window.coi; index.html loads it next). On a static
// host that cannot send COOP/COEP, its service worker adds them and reloads the page once, so
// the page is cross-origin isolated and training uses every core (docs/threads.md). Not on
// this computer's own addresses, where `trunk serve` sends the headers itself and the tests
// serve the site both with and without them on purpose; not with ?threads=0.
window.coi = {
  shouldRegister: () =>
    !['127.0.0.1', 'localhost', '[::1]'].includes(location.hostname) &&
    new URLSearchParams(location.search).get('threads') !== '0',
  quiet: true,
};
