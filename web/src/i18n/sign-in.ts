import type { PageMessages } from './index';

export const signIn: PageMessages = {
  'zh-CN': {
    title: '登录',
    name: '用户名',
    password: '密码',
    submit: '登录',
    wrong: '用户名或密码不正确。',
    locked: '尝试次数过多，请 {seconds} 秒后再试。',
    hint: '账号由管理员创建（wanji user create）。程序访问请使用 API 令牌。',
  },
  en: {
    title: 'Sign in',
    name: 'User name',
    password: 'Password',
    submit: 'Sign in',
    wrong: 'Wrong user name or password.',
    locked: 'Too many attempts; try again in {seconds} s.',
    hint: 'Accounts are created by an administrator (wanji user create). Programs use API tokens.',
  },
};
