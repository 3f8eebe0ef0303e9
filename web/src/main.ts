import { createApp } from 'vue';
import App from './App.vue';
import { whenUnauthorized } from './api';
import { currentLocale, i18n, setLocale } from './i18n';
import { router } from './router';
import { session } from './session';
import './style.css';

whenUnauthorized(() => {
  session.principal = undefined;
  const here = router.currentRoute.value;
  if (here.meta.public !== true) void router.push({ path: '/sign-in', query: { next: here.fullPath } });
});

setLocale(currentLocale());
createApp(App).use(i18n).use(router).mount('#app');
